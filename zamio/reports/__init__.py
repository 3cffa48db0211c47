"""Analytics reports (``bin/generate-analytics-report``): one document, written as JSON, CSV and HTML."""
