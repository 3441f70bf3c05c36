"""The agent end to end: a scripted model (model_server), opencode's HTTP API (opencode_api),
what the agent is asked to do and how it is judged (suite), and the sessions that run it
(runner). `sandbox test --agent` starts the image and hands these its server."""
