"""Drops the page cache of every file under the given folders (POSIX_FADV_DONTNEED), keeping the
files: the benchmark scripts call it after each timed write, once the write is synced.

Why not delete instead: on ext4 without a journal (these machines), a file created after mass
deletions walks past every inode freed minutes before (fs/ext4/ialloc.c, recently_deleted),
which made the next 1,000-file write up to ten times slower. Why not keep the pages: 0.9 GB a
round of kept writes grew the page cache into memory the VM's host had not backed, where copying
pages in ran 4–5 times slower. Evicted clean pages go back to the allocator and are reused at
full speed.

Usage: evict.py FOLDER...
"""

import os
import sys


def main() -> None:
    for root in sys.argv[1:]:
        for folder, _, files in os.walk(root):
            for name in files:
                fd = os.open(os.path.join(folder, name), os.O_RDONLY)
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)


if __name__ == "__main__":
    main()
