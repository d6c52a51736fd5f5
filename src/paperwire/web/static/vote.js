// Upvote buttons without a page reload (owned by web/community.py); progressive enhancement only.
