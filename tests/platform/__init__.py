"""What holds the app together: layers, migrations, health, logs, limits, back-up, workers, demo."""
