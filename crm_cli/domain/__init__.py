"""Value types and rules. No I/O: everything here is a pure function of its inputs."""
