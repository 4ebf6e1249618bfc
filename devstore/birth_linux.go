//go:build linux

package devstore

import "golang.org/x/sys/unix"

// birthTime returns when the file at path was created, in Unix nanoseconds,
// or 0 where the file system does not record it. Linux reuses the inode
// number of a deleted file at once, so a database file created again in the
// place of a dropped one looks like the same file without it.
func birthTime(path string) int64 {
	var sx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, 0, unix.STATX_BTIME, &sx); err != nil {
		return 0
	}

	if sx.Mask&unix.STATX_BTIME == 0 {
		return 0
	}

	return sx.Btime.Sec*1e9 + int64(sx.Btime.Nsec)
}
