"""The Keen assistant in Slack: mentions, direct messages, assistant threads and `/keen`."""
