from agent_console.cli.entry import run

run()
