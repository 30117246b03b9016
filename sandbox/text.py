"""Word lists for believable generated data (project names, captions, titles)."""

from __future__ import annotations

# (brand word, category) pairs; a project name is "<prefix> <brand word>".
BRANDS = [
    ("Fitness", "fitness"),
    ("Coffee Co", "coffee"),
    ("Yoga", "yoga"),
    ("Running Club", "running"),
    ("Language Lab", "language"),
    ("Budget", "finance"),
    ("Skincare", "skincare"),
    ("Pet Supply", "pets"),
    ("Travel", "travel"),
    ("Meditation", "meditation"),
    ("Kitchen", "recipes"),
    ("Bikes", "cycling"),
]

PREFIXES = [
    "Acme",
    "Northwind",
    "Bluebird",
    "Juniper",
    "Harbor",
    "Summit",
    "Maple",
    "Cobalt",
    "Fernwood",
    "Lumen",
    "Otter",
    "Saffron",
    "Tidal",
    "Kestrel",
    "Ember",
    "Willow",
    "Granite",
    "Nimbus",
    "Marigold",
    "Atlas",
    "Pebble",
    "Aurora",
    "Cedar",
    "Solace",
    "Brightside",
    "Little Fox",
    "Oakline",
    "Redwood",
    "Silverline",
    "Parkside",
]

TIMEZONES = [
    "America/Los_Angeles",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Madrid",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Australia/Sydney",
    "America/Sao_Paulo",
    "America/Toronto",
    "UTC",
]

LANGUAGES = ["en", "en", "en", "en-GB", "de", "fr", "es", "pt-BR", "ja"]

TOPICS = {
    "fitness": [
        "your first 30 days of lifting",
        "a 12-minute full-body burn",
        "leg day without a gym",
        "the push-pull split explained",
        "core work that actually helps",
        "form checks that save your back",
    ],
    "coffee": [
        "a before-and-after latte tutorial",
        "the 4:6 pour-over method",
        "cold brew in 12 hours",
        "dialing in a new espresso bag",
        "our single-origin tasting notes",
        "oat milk microfoam tips",
    ],
    "yoga": [
        "a 10-minute morning flow",
        "hip openers for desk workers",
        "breathing before bed",
        "crow pose in three steps",
        "yin yoga for sore legs",
        "sun salutations, slowly",
    ],
    "running": [
        "your first 5K plan",
        "easy pace vs. tempo pace",
        "how to pick race-day shoes",
        "a rainy long run",
        "strides, explained",
        "the week before a half marathon",
    ],
    "language": [
        "10 Spanish phrases for the airport",
        "ordering coffee in Japanese",
        "the French r, fixed",
        "a 5-minute daily habit",
        "false friends in German",
        "counting to 100 in Portuguese",
    ],
    "finance": [
        "the 50/30/20 budget",
        "a no-spend weekend",
        "killing a subscription you forgot",
        "an emergency fund in 6 months",
        "splitting rent fairly",
        "tracking every coffee for a week",
    ],
    "skincare": [
        "a 3-step night routine",
        "SPF myths",
        "what niacinamide actually does",
        "double cleansing for beginners",
        "winter skin rescue",
        "patch testing a new serum",
    ],
    "pets": [
        "puppy's first week home",
        "a calmer vet visit",
        "enrichment toys from the recycling bin",
        "what your cat's tail is saying",
        "leash training in 5 minutes a day",
        "a grain-free myth",
    ],
    "travel": [
        "Lisbon in 48 hours",
        "packing one carry-on for 2 weeks",
        "a rainy day in Kyoto",
        "hidden beaches near Split",
        "night trains across Europe",
        "an airport lounge hack",
    ],
    "meditation": [
        "a 3-minute reset",
        "box breathing before a meeting",
        "body scan for sleep",
        "noting practice for busy minds",
        "walking meditation at lunch",
        "gratitude in 60 seconds",
    ],
    "recipes": [
        "a 15-minute weeknight pasta",
        "sheet-pan salmon",
        "the crispiest roast potatoes",
        "meal prep for 5 lunches",
        "a 3-ingredient dessert",
        "sourdough discard pancakes",
    ],
    "cycling": [
        "fixing a flat in 4 minutes",
        "your first 50 km ride",
        "commuting in the rain",
        "gravel vs. road tyres",
        "a saddle height check",
        "climbing without burning out",
    ],
}

HOOKS = [
    "Nobody tells you this about {topic}.",
    "POV: you finally tried {topic}.",
    "Stop scrolling if you care about {topic}.",
    "We tested {topic} so you don't have to.",
    "3 mistakes people make with {topic}.",
    "The lazy guide to {topic}.",
    "I wish I knew this before {topic}.",
    "{Topic} in under a minute.",
]

CAPTIONS = [
    "{Topic}. Save this for later.",
    "{Topic} - which step surprised you?",
    "Here's {topic}, the way our team actually does it.",
    "{Topic}. Tag someone who needs this.",
    "Swipe for {topic}.",
    "{Topic}, no fluff. Link in bio.",
    "We asked 100 customers about {topic}. Here's what stuck.",
]

FIRST_COMMENTS = [
    "Full guide in our profile link.",
    "Which one should we cover next?",
    "Questions? Drop them below.",
    None,
]

CREATOR_HANDLES = [
    "maya.moves",
    "thecoffeenerd",
    "runwithjo",
    "lena_learns",
    "budgetbenny",
    "glowbyami",
    "dogdad.dan",
    "wanderwithkai",
    "calm.carla",
    "chefonthego",
    "pedalpriya",
    "sam.lifts",
    "noor.daily",
    "alexoutdoors",
    "tinykitchen.tom",
    "yogawithyuki",
]

UGC_TITLES = [
    "Creator {topic} UGC",
    "{Handle} tries {topic}",
    "Unboxing + {topic}",
    "Honest review: {topic}",
    "Day in the life: {topic}",
]

UPLOAD_TITLES = [
    "Brand shoot - {topic}",
    "Studio cut: {topic}",
    "Founder story: {topic}",
    "Product close-up - {topic}",
]

OVERRIDE_NOTES_INCLUDE = [
    "Seasonal hero - keep running through the promo",
    "Legal cleared the claims; pin it",
    "Still converting despite the score dip",
    "Client asked to keep this in rotation",
]

OVERRIDE_NOTES_EXCLUDE = [
    "Legal flagged the background music",
    "Outdated pricing in the last slide",
    "Client asked to pull this one",
    "Creator contract expired",
]

FAIL_REASONS = [
    ("RENDER_FAILED", "Video render timed out after 3 attempts."),
    ("ASSET_UNAVAILABLE", "Source clip was removed by the creator."),
    ("MODERATION_BLOCKED", "Generated script failed the brand-safety check."),
]

COLOURS = [
    "#E4572E",
    "#17BEBB",
    "#FFC914",
    "#2E282A",
    "#76B041",
    "#3D5A80",
    "#EE6C4D",
    "#98C1D9",
    "#6A4C93",
    "#1982C4",
    "#8AC926",
    "#FF595E",
    "#FFCA3A",
    "#4D908E",
    "#F3722C",
    "#577590",
]


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]
