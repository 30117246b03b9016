"""Map Layers content and ads-content payloads to model fields (pure: no I/O).

Unknown enum values are stored as they come; missing optional objects become empty values;
strings are cut to their column and stripped of NULs; URLs that are not http(s) are dropped.
Every row gets its ``key`` (the id in normal form, ``layersadmin.layers.ids``) beside the id
as the API sent it.
"""

from __future__ import annotations

from typing import Any

from layersadmin.layers import payload as p
from layersadmin.layers.ids import id_key


def container_fields_from_api(data: dict[str, Any]) -> dict[str, Any]:
    preview = data.get("preview") if isinstance(data.get("preview"), dict) else {}
    primary_asset = data.get("primaryAsset") if isinstance(data.get("primaryAsset"), dict) else {}
    thumbnail = p.url(preview.get("thumbnailUrl")) or p.url(primary_asset.get("thumbnailUrl"))
    return {
        "layers_id": p.text(data.get("id"), 64),
        "key": id_key(data.get("id")),
        "status": p.text(data.get("status"), 32),
        "format": p.text(data.get("format"), 64),
        "caption": p.text(data.get("caption"), 10_000),
        "creative_type": p.text(data.get("creativeType"), 32),
        "ads_enrollment": p.text(data.get("adsEnrollment"), 32),
        "approval_status": p.text(data.get("approvalStatus"), 32),
        "created_at": p.timestamp(data.get("createdAt")),
        "completed_at": p.timestamp(data.get("completedAt")),
        "preview_kind": p.text(preview.get("kind"), 16),
        "preview_url": p.url(preview.get("primaryUrl")),
        "thumbnail_url": thumbnail,
        "image_urls": [u for u in (p.url(x) for x in p.str_list(preview.get("imageUrls"))) if u],
        "video_url": p.url(preview.get("videoUrl")),
        "duration_ms": p.integer(preview.get("durationMs")),
        "aspect_ratio": p.text(preview.get("aspectRatio"), 16),
        "raw": p.clean(data),
    }


def ads_content_fields_from_api(data: dict[str, Any]) -> dict[str, Any]:
    eligibility = data.get("eligibility") if isinstance(data.get("eligibility"), dict) else {}
    override = data.get("override")
    promotions = data.get("activePromotions")
    organic = data.get("organicPerformance")
    paid = data.get("adPerformance")
    return {
        "layers_id": p.text(data.get("adsContentId"), 64),
        "key": id_key(data.get("adsContentId")),
        "source_type": p.text(data.get("sourceType"), 32),
        "source_id": p.text(data.get("sourceId"), 64),
        "platform_post_id": p.text(data.get("platformPostId"), 64),
        # No title or thumbnail here: seed 001's row has neither. What pages show is derived
        # from this row's own fields, its container or a leaderboard (creative_display_refresh).
        "scoring_pool": p.text(data.get("scoringPool"), 32),
        "organic_score": p.number(data.get("organicScore"), default=0.0),
        "scored_at": p.timestamp(data.get("scoredAt")),
        "scoring_version": p.integer(data.get("scoringVersion")),
        "is_eligible": p.boolean(eligibility.get("isEligible")),
        "eligibility_reason": p.text(eligibility.get("reason"), 255),
        "override": p.text(override, 16) if isinstance(override, str) else "",
        "override_note": p.text(data.get("overrideNote"), 2000),
        "override_set_by": p.text(data.get("overrideSetBy"), 255),
        "override_set_at": p.timestamp(data.get("overrideSetAt")),
        "active_promotions": p.clean(promotions) if isinstance(promotions, list) else [],
        "organic_performance": p.clean(organic) if isinstance(organic, dict) else None,
        "ad_performance": p.clean(paid) if isinstance(paid, dict) else None,
        "raw": p.clean(data),
    }


def leaderboard_fields_from_api(data: dict[str, Any]) -> dict[str, Any]:
    """A top-performers answer as a snapshot stores it: the items, and the rest as raw."""
    items = data.get("items")
    return {
        "items": (
            p.clean([item for item in items if isinstance(item, dict)])
            if isinstance(items, list)
            else []
        ),
        "raw": p.clean({k: v for k, v in data.items() if k != "items"}),
    }
