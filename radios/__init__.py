"""Radio drivers: one subpackage per radio family, the same module names in each."""
