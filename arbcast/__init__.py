"""The arbcast command line and the wiring that starts a whole process."""
