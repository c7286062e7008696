"""Tessera's development tools, apart from the tests: document generators (`corpus`,
`hostile`, `evalcorpus`), the benchmark (`make bench`) and the accuracy run (`make eval`)."""
