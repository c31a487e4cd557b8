"""Public disclosure (信息公开) and masking (脱敏), HB 八 / LN 第七条."""
