"""部门数据 (department data), pure: feed types as data (`feedspec`), cleaning a department's
cells (`cells`), finding its columns (`headers`), per-row validation (`validate`) and matching
rows to persons (`matching`)."""
