from crowdexports.cli.main import app

app(prog_name="crowdexports")
