-- Campaign batches page through a program's members in id order (`audience_page`): with this
-- index each page is a range scan, instead of sorting every member of the program per page.
CREATE INDEX members_by_program_id ON members (program_id, id);
-- ... and leave out members the campaign already messaged in the window: one probe per
-- member, whatever the planner believes about the campaign's size (without it, PostgreSQL
-- with stale statistics intersected the campaign's whole message list for every member).
CREATE INDEX messages_by_campaign_member ON messages (campaign_id, member_id, created_at);
