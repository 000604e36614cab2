"""One router per resource: articles, search, stories, analysis (bodies, nothing stored), system; pages (/ui)."""
