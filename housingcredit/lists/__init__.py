"""lists domain: watch list, rectification orders, joint-punishment procedures, measures, credit check."""
