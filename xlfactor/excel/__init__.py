"""The Excel shell: reading workbooks, evaluating FACTOR_* formulas without Excel."""
