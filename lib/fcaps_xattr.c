/* SPDX-License-Identifier: GPL-2.0-or-later */
/* security.capability v3 root id; see fcaps_xattr.h. */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <linux/capability.h>

#include "fcaps_xattr.h"

int fcaps_xattr_revision(const void *buf, size_t size)
{
	uint32_t magic;

	if (size < sizeof(magic))
		return -EINVAL;
	memcpy(&magic, buf, sizeof(magic));
	switch (le32toh(magic) & VFS_CAP_REVISION_MASK) {
	case VFS_CAP_REVISION_1:
		return size == XATTR_CAPS_SZ_1 ? 1 : -EINVAL;
	case VFS_CAP_REVISION_2:
		return size == XATTR_CAPS_SZ_2 ? 2 : -EINVAL;
	case VFS_CAP_REVISION_3:
		return size == XATTR_CAPS_SZ_3 ? 3 : -EINVAL;
	default:
		return -EINVAL;
	}
}

int fcaps_xattr_rootid(const void *buf, size_t size, uint32_t *rootid)
{
	struct vfs_ns_cap_data caps;

	if (fcaps_xattr_revision(buf, size) != 3)
		return -EINVAL;
	memcpy(&caps, buf, sizeof(caps));
	*rootid = le32toh(caps.rootid);
	return 0;
}

int fcaps_xattr_shift(void *buf, size_t size, const struct idmap *uidmap,
		      bool to_view)
{
	struct vfs_ns_cap_data caps;
	uint32_t rootid;
	int rev = fcaps_xattr_revision(buf, size);

	if (rev < 0)
		return rev;
	if (rev != 3)
		return 0;
	memcpy(&caps, buf, sizeof(caps));
	if (idmap_translate(uidmap, to_view, le32toh(caps.rootid), &rootid) < 0)
		return -EOVERFLOW;
	if (rootid == le32toh(caps.rootid))
		return 0;
	caps.rootid = htole32(rootid);
	memcpy(buf, &caps, sizeof(caps));
	return 1;
}

int fcaps_xattr_convert(const void *in, size_t in_size, void *out,
			const struct idmap *uidmap, bool to_view)
{
	struct vfs_ns_cap_data caps = {0};
	uint32_t rootid = 0, mapped;
	int rev = fcaps_xattr_revision(in, in_size);

	if (rev < 0)
		return rev;
	if (rev == 3)
		fcaps_xattr_rootid(in, in_size, &rootid);
	if (idmap_translate(uidmap, to_view, rootid, &mapped) < 0)
		return -EOVERFLOW;
	if (mapped == 0 && rev != 3) {
		memmove(out, in, in_size);
		return (int)in_size;
	}
	/* v1 holds one 32-bit word of each set: the upper words stay 0. */
	memcpy(&caps, in, in_size < sizeof(caps) ? in_size : sizeof(caps));
	caps.magic_etc = htole32(VFS_CAP_REVISION_3 |
				 (le32toh(caps.magic_etc) & VFS_CAP_FLAGS_MASK));
	caps.rootid = htole32(mapped);
	memcpy(out, &caps, sizeof(caps));
	return (int)sizeof(caps);
}
