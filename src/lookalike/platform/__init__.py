"""What differs between Linux, macOS and Windows, and how worker processes start: imported by every worker first."""
