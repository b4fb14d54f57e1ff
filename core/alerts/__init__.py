"""In-bot alerts to SuperAdmins: which thresholds trip (`rules`), when an alert is sent
(`evaluator`), and mutes (`mutes`)."""
