from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length


class StaffLoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)])


class HouseholdLoginForm(FlaskForm):
    id_number = StringField(_l("Head's resident ID number"), validators=[DataRequired(), Length(max=18)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)])


class ActivationForm(FlaskForm):
    id_number = StringField(_l("Head's resident ID number"), validators=[DataRequired(), Length(max=18)])
    code = StringField(_l("Activation code"), validators=[DataRequired(), Length(max=16)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=128)])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=128)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=128)],
                                 description=_l("At least 8 characters. Changing it logs you out everywhere else "
                                                "and revokes your API tokens."))
    new_password_repeat = PasswordField(_l("New password again"), validators=[DataRequired(), Length(max=128)])


# ---- staff administration and API tokens: the services check the values (every error at once); the forms carry
# the CSRF token and the choices -------------------------------------------------------------------------------

class StaffEditForm(FlaskForm):
    display_name = StringField(_l("Name"), validators=[Length(max=64)])
    role = SelectField(_l("Role"), validate_choice=False)
    region_code = SelectField(_l("Region"), validate_choice=False)
    office = StringField(_l("Unit"), validators=[Length(max=80)],
                         description=_l("The unit or section, e.g. 江岸区住房保障中心."))


class StaffForm(StaffEditForm):
    username = StringField(_l("Username"), validators=[Length(max=64)],
                           description=_l("For logging in: letters, digits, dots, hyphens, underscores."))


class TokenForm(FlaskForm):
    name = StringField(_l("What the token is for"), validators=[Length(max=64)])


class StaffActivationForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    code = StringField(_l("Activation code"), validators=[DataRequired(), Length(max=16)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=128)],
                             description=_l("At least 8 characters."))
    password_repeat = PasswordField(_l("New password again"), validators=[DataRequired(), Length(max=128)])
