"""Community programmes: sessions, eligibility, enrolments, waitlists, attendance."""
