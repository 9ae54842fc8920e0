-- Placeholder: filled in by the lifecycle issue (#4).
SELECT 1;
