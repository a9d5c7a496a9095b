from agent_console.cli.main import run

run()
