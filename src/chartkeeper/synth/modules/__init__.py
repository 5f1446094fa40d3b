"""The default generator modules; each file owns one part of the chart (see its docstring)."""
