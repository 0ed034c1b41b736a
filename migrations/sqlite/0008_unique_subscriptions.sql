-- One subscription per chat, place and thresholds (issue 9): the same
-- subscription made twice alerted twice. Exact duplicates already stored are
-- merged into the oldest (their episodes go with them; their sent messages
-- keep their text), then a unique index keeps it so. Unset bounds are
-- compared through a value no temperature can take.
DELETE FROM subscriptions
WHERE id NOT IN (
    SELECT MIN(id) FROM subscriptions
    GROUP BY chat_id, latitude, longitude, IFNULL(t_min, 1e9), IFNULL(t_max, 1e9), rain, snow
);
CREATE UNIQUE INDEX subscriptions_unique ON subscriptions
    (chat_id, latitude, longitude, IFNULL(t_min, 1e9), IFNULL(t_max, 1e9), rain, snow);
