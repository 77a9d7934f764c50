from django import template

from tipline.numerals import localize_digits

register = template.Library()
register.filter("localdigits", localize_digits)
