"""Last stage: the run record, the YAML document and its schema, the HTML page, JUnit,
failure text, certification and the requirement catalog."""
