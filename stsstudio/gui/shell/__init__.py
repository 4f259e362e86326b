"""The window around the views: main window, sidebar, status bar, view stack, welcome,
application setup, dialogs and settings."""
