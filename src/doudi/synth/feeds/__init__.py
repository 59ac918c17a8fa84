"""Department feeds of a synthetic district (部门数据): what each department sends, in its own
layout, with dirty rows. `layouts` declares the files; `build` draws their rows from a
population; `render` and `dirty` turn typed rows into the text a department's file holds;
`files` writes CSV, Parquet and Excel."""
