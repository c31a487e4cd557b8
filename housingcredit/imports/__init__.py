"""Excel import of household archives (批量导入): template, checked preview, confirmed import in batches, report."""
