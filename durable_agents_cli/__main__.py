from durable_agents_cli.app import main

main()
