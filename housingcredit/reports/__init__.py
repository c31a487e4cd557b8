"""reports domain: formal documents (notices and credit reports) as PDFs, their numbers and public verification."""
