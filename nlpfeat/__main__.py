from nlpfeat._cli import app

app(prog_name="nlpfeat")
