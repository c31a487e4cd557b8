"""The caseworker's workbench (工作台): the to-do home page, and one filter / sort / page / export mechanism that
serves every list (archives, records, review queue, watch list, procedures, orders, credit checks, audit trail)
from a small declarative spec per list, with the supervisor-approved unmasked export (SPEC §11)."""
