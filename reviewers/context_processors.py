from reviewers import unlock


def key_state(request):
    """Whether the reviewer's key is unlocked in this session (for the navigation bar)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"unlocked": False, "away": False, "notify_by_email": False}
    profile = getattr(request.user, "reviewer_profile", None)
    return {
        "unlocked": unlock.passphrase(request) is not None,
        "away": bool(profile and profile.is_away),
        "notify_by_email": profile is None or profile.notify_by_email,
    }
