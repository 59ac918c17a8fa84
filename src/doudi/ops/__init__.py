"""运维 / operations: what runs the system rather than a page of it — the server and its
background-job worker (`doudi serve`), backups and restores (`doudi backup`, `doudi restore`),
and building the demo and synthetic districts (`doudi demo`, `doudi synth`)."""
