"""Turn folders of notes into chunks: load -> clean -> structure -> chunk -> build the index."""
