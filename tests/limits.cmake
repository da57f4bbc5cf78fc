# limits.cmake -- unit tests of bounded conversions: the millisecond clamp and the known-fields message.
