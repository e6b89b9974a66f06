"""Chapter code: the scenarios and workloads the Model-Data Operations pages run (a knowledge base with planted
faults, a simulated query workload). May import the core; the core never imports it."""
