-- PostgreSQL twin of sqlite/0007. Exchange Online (Graph): each mailbox's calendarView delta
-- link, so polling continues where it stopped.
CREATE TABLE calendar_graph_delta (
    mailbox TEXT PRIMARY KEY NOT NULL,
    delta_link TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
