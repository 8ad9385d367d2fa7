"""Pure renderers: plan, report and problems → text, JSON, Markdown, annotations."""
