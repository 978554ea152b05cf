"""17TRACK (API v2): TRACKING_UPDATED pushes signed with the account key, and gettrackinfo as the
safety net. The package is `track17` (a module name cannot start with a digit); the type is `17track`."""
