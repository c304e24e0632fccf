"""The web dashboard: static pages served at /ui over the native API, plus sign-in sessions."""
