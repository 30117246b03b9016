"""The site's URLconf plus views that fail on purpose (for the error-page secret checks)."""

from django.urls import include, path

from layersadmin.layers import get_client


def boom_unreachable(request):
    """A view whose API call fails with nothing catching it: a 500 with a traceback."""
    client = get_client(base_url="http://127.0.0.1:9/v1", max_attempts=1, connect_timeout=0.5)
    return client.whoami()


def boom_after_a_call(request):
    """A view that fails after a successful API call (a client and its answer in its locals)."""
    client = get_client()
    answer = client.whoami()
    raise RuntimeError(f"boom after whoami of {answer.get('organizationId')}")


def boom_misconfigured(request):
    """A programming error while building the client (an option it does not take)."""
    return get_client(read_timeout_seconds=5).whoami()


urlpatterns = [
    path("boom/misconfigured/", boom_misconfigured),
    path("boom/unreachable/", boom_unreachable),
    path("boom/after-call/", boom_after_a_call),
    path("", include("layersadmin.urls")),
]
