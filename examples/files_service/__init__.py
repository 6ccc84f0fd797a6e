"""An agent service with file upload and download: text files in, a report out."""
