"""appeals domain: objections (异议) and credit repair (信用修复), HB 七."""
