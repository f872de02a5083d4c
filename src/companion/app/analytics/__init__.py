"""The business's figures as people read them: KPI reports shaped for JSON and CSV."""
