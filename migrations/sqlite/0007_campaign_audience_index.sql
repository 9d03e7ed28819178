-- Campaign batches page through a program's members in id order (`audience_page`): with this
-- index each page is a range scan, instead of sorting every member of the program per page.
CREATE INDEX members_by_program_id ON members (program_id, id);
