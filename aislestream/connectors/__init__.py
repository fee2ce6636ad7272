"""Everything outside the process: broker, search stores, caches. No business logic here."""
